fn main() {
    std::process::exit(berth::cli::main_with_args(std::env::args_os()));
}
