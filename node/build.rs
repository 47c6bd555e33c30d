//! Compiles the management API schema (`proto/schema/mgmt.proto`) into tonic
//! client and server stubs with protox, so that no `protoc` binary is needed.

const MGMT_SCHEMA: &str = "../proto/schema/mgmt.proto";

const ENUM_FIELDS: &[(&str, &str)] = &[
    ("StatusReply.role", "role"),
    ("StatusReply.origin", "origin"),
    ("SessionFilter.state", "session_state"),
    ("SessionSummary.state", "session_state"),
    ("SessionList.origin", "origin"),
    ("SessionDetail.origin", "origin"),
    ("TunnelList.origin", "origin"),
    ("TunnelDetail.origin", "origin"),
    ("PoolList.origin", "origin"),
    ("ClusterMember.role", "role"),
    ("CaptureRequest.kinds", "capture_kinds"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={MGMT_SCHEMA}");
    let descriptors = protox::compile([MGMT_SCHEMA], ["../proto/schema"])?;
    let mut builder = tonic_prost_build::configure()
        .type_attribute(".lnsd.mgmt.v1", "#[derive(serde::Serialize)]");
    // Enum-typed fields are i32 in prost; lnsctl --json prints their names.
    for (field, serializer) in ENUM_FIELDS {
        builder = builder.field_attribute(
            format!(".lnsd.mgmt.v1.{field}"),
            format!("#[serde(serialize_with = \"crate::mgmt::json::{serializer}\")]"),
        );
    }
    builder.compile_fds(descriptors)?;
    Ok(())
}
