use clap::Parser;

fn main() {
    let cli = hecjob::cli::Cli::parse();
    if let Err(e) = hecjob::cli::dispatch(cli) {
        // Messages quote what schedulers and file names hold: no raw escapes.
        eprintln!("error: {}", hecjob::util::error::printable(&e.to_string()));
        std::process::exit(e.exit_code());
    }
}
