// libFuzzer target: the built-in HDF5 reader and the weight-file checks on top of it, from
// arbitrary bytes. Any thrown error is a pass; a trap or an AddressSanitizer report is a bug.
// tools/ci/fuzz builds and runs it.
// tools/ci/fuzz: -max_len=65536 -use_value_profile=1
import STNModel

#if canImport(Glibc)
    import Glibc
#endif

/// The reader maps a file by path, so each input is written to one file (in tmpfs where
/// there is one), unlinked at once and reached through /proc/self/fd: none is left behind.
let input: (descriptor: Int32, path: String) = {
    let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    let name = "\(folder)/stn-fuzz-hdf5-\(getpid())"
    let descriptor = open(name, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { fatalError("cannot create \(name): \(String(cString: strerror(errno)))") }
    unlink(name)
    return (descriptor, "/proc/self/fd/\(descriptor)")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHDF5(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard ftruncate(input.descriptor, 0) == 0, pwrite(input.descriptor, data, size, 0) == size else {
        fatalError("cannot write the input to \(input.path)")
    }
    let reader: HDF5Reader
    do {
        reader = try HDF5Reader(path: input.path)
    } catch {
        _ = "\(error)"
        return 0
    }
    // Everything a caller can ask of an open file.
    for name in reader.datasetPaths() {
        _ = try? reader.shape(of: name)
        _ = try? reader.storedType(of: name)
        _ = try? reader.readFloats(name)
        _ = try? reader.readDoubles(name)
        _ = try? reader.readInts(name)
    }
    for (_, value) in reader.attributes() {
        _ = (value.description, value.intValue, value.doubleValue, value.stringValue)
    }
    do {
        _ = try WeightFile.read(reader)
    } catch {
        _ = "\(error)"
    }
    return 0
}
