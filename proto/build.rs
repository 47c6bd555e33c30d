//! Compiles the replicated-state schemas in `schema/` into Rust types with
//! prost, using protox so that no `protoc` binary is needed.

const STATE_SCHEMAS: &[&str] = &[
    "schema/l2tp.proto",
    "schema/ppp.proto",
    "schema/nd.proto",
    "schema/dhcpv6.proto",
    "schema/lnsd.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for schema in STATE_SCHEMAS {
        println!("cargo:rerun-if-changed={schema}");
    }
    let descriptors = protox::compile(STATE_SCHEMAS, ["schema"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
