fn main() {
    std::process::exit(loadbench::cli::main());
}
