//! Compiles the management API schema (`proto/schema/mgmt.proto`) into tonic
//! client and server stubs with protox, so that no `protoc` binary is needed.

const MGMT_SCHEMA: &str = "../proto/schema/mgmt.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={MGMT_SCHEMA}");
    let descriptors = protox::compile([MGMT_SCHEMA], ["../proto/schema"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
