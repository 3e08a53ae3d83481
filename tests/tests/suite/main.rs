//! The integration suite in one test binary: each module is one area
//! of the host driven from outside. One binary links the host once
//! instead of once per file (each link is ~150 MB on disk and seconds of
//! CI). `hostile` and `secrets` stay binaries of their own: each installs
//! a process-wide log subscriber and reads everything logged in it.

mod authentications;
mod authoring;
mod bench_driver;
mod cli;
mod cloudwatch;
mod codegen;
mod cognito;
mod cognito_api;
mod cognito_more;
mod console;
mod dynamodb;
mod ec2;
mod example;
mod http_api;
mod iam;
mod input;
mod lambda;
mod loading;
mod masking;
mod mcp;
mod oci;
mod queue;
mod repeat;
mod s3;
mod serve;
mod signing;
mod sns;
mod upstream_faults;
mod wire;
mod workflow;
mod workflow_control;
