//! With the `grpc` feature: compiles proto/apache/rocketmq/v2/service.proto (ferromq's own
//! definition of the RocketMQ 5.x wire contract) into prost messages and a tonic server trait.
//! protox is a protobuf compiler written in Rust, so neither the build nor CI needs `protoc`.

fn main() {
    println!("cargo:rerun-if-changed=proto");
    #[cfg(feature = "grpc")]
    grpc();
}

#[cfg(feature = "grpc")]
fn grpc() {
    let fds = match protox::compile(["apache/rocketmq/v2/service.proto"], ["proto"]) {
        Ok(fds) => fds,
        Err(e) => panic!("proto/apache/rocketmq/v2: {e:?}"),
    };
    if let Err(e) = tonic_prost_build::configure()
        // Message bodies as `Bytes`: decoded as a slice of the received frame and sent from the
        // stored record's buffer, with no copy either way.
        .bytes(".apache.rocketmq.v2.Message.body")
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)
    {
        panic!("generating the gRPC code: {e}");
    }
}
