use clap::Parser;

fn main() {
    let cli = hecjob::cmd::Cli::parse();
    if let Err(e) = hecjob::cmd::dispatch(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
