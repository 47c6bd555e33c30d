//! stub
#[derive(Debug)] pub struct Authorization;
