"""Read a TensorBoard log directory with TensorBoard's own code and print its
scalars as JSON: {"runs": {run: {tag: [[step, value], ...]}}, "versions": [...]}.

The multiplexer is what `tensorboard --logdir DIR` uses to find runs (one per
directory holding event files); the raw loader reads each file record by record
(checking the masked CRC32C of every record) so the version record is seen too.
Used by tests/tensorboard.rs.
"""
import glob
import json
import os
import sys

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing import event_multiplexer

logdir = sys.argv[1]
mux = event_multiplexer.EventMultiplexer()
mux.AddRunsFromDirectory(logdir)
mux.Reload()
runs = {}
for run, tags in mux.Runs().items():
    runs[run] = {
        tag: [[e.step, e.value] for e in mux.Scalars(run, tag)]
        for tag in tags.get("scalars", [])
    }
versions = []
records = 0
for path in sorted(glob.glob(os.path.join(logdir, "**", "*tfevents*"), recursive=True)):
    for event in event_file_loader.LegacyEventFileLoader(path).Load():
        records += 1
        if event.HasField("file_version"):
            versions.append(event.file_version)
print(json.dumps({"runs": runs, "versions": versions, "records": records}))
