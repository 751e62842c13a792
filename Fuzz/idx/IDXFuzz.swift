// libFuzzer target: IDX images and labels, raw and gzip, from arbitrary bytes. Any thrown
// error is a pass; a trap or an AddressSanitizer report is a bug. tools/ci/fuzz builds and runs it.
// tools/ci/fuzz: -max_len=16384
import STNData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let images = try IDX.readImages(bytes: bytes)
        // What callers do next: take an image and a prefix.
        _ = images.image(images.count - 1)
        _ = images.prefix(1)
    } catch let error as IDXError where error.kind == .wrongDimensions(found: 1, expected: 3) {
        // A label file (inflated once more only in this case: gzip inputs are the slow ones).
        do {
            _ = try IDX.readLabels(bytes: bytes)
        } catch {
            _ = "\(error)"
        }
    } catch {
        _ = "\(error)"
    }
    return 0
}
