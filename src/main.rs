//! The `loadbench` command: the window without arguments, a subcommand otherwise.

fn main() {
    // Like other command-line tools, end quietly when the reader of our output goes away
    // (`loadbench runs | head`) instead of panicking on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(loadbench::cli::main());
}
