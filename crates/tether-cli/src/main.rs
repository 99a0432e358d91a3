//! The `tether` binary: a shim over the `tether_cli` library.

fn main() -> std::process::ExitCode {
    tether_cli::main()
}
