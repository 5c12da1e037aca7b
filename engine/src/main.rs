fn main() -> std::process::ExitCode {
    cogpack::cli::main()
}
