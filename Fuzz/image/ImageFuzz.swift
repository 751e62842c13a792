// libFuzzer target: PNG (libpng through CPNGReader) and binary PGM from arbitrary bytes, as
// stn-infer reads image files. Any thrown error is a pass; a trap, a longjmp gone wrong or an
// AddressSanitizer report is a bug. tools/ci/fuzz builds and runs it.
// tools/ci/fuzz: -max_len=16384
import STNImage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let image = try ImageFile.decode(bytes, name: "fuzz")
        // What stn-infer does next: scale to 8 bits and convert to the model's channels.
        _ = image.pixels(channels: 1)
        _ = image.pixels(channels: 3)
    } catch {
        _ = "\(error)"
    }
    return 0
}
