//! Compiles `proto/schema/peer.proto` (the member-to-member transport) with
//! tonic-prost-build, using protox so that no `protoc` binary is needed.

const SCHEMA: &str = "../proto/schema/peer.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={SCHEMA}");
    let descriptors = protox::compile([SCHEMA], ["../proto/schema"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
