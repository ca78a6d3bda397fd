fn main() {
    std::process::exit(ringform::run());
}
