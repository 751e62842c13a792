// libFuzzer target: the ONNX importer (stn-convert MODEL.onnx) from arbitrary bytes: the
// protobuf decode, both graph importers and the layer list they build. Any thrown error is
// a pass; a trap or an AddressSanitizer report is a bug. tools/ci/fuzz builds and runs it; its
// seeds are real torch exports (tools/fixtures/make_fuzz_corpus.py).
// tools/ci/fuzz: -max_len=262144
import STNModel
import STNONNX

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let converted = try ONNXImporter.convert(bytes: bytes, name: "fuzz")
        // What stn-convert does next: describe the model and count its parameters.
        _ = converted.architecture.summary()
        _ = converted.architecture.parameterCount
        _ = converted.weights.tensors.count
    } catch {
        _ = "\(error)"
    }
    return 0
}
