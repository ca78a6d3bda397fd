fn main() {
    std::process::exit(ringform::run(std::env::args_os()));
}
