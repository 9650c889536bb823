use clap::Parser;

fn main() {
    let cli = hecjob::cli::Cli::parse();
    if let Err(e) = hecjob::cli::dispatch(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
