import STNModel
import STNSystem

/// Writing weight files goes through libhdf5 (reading does not need it: see HDF5Reader).
extension WeightFile {
    /// Writes the file atomically: a temporary file in the same directory, renamed over
    /// `path` only once complete, so a failure never leaves a partial file.
    public func write(to path: String, extra: ((HDF5File) throws -> Void)? = nil) throws {
        try WeightFile.atomicWrite(to: path) { file in
            for spec in weights.architecture.parameters {
                try file.write(spec.name, floats: weights[spec.name], shape: spec.shape)
            }
            var all = attributes
            for (key, value) in WeightFile.formatAttributes(for: weights.architecture) { all[key] = value }
            for key in all.keys.sorted() { try file.setAttribute(key, all[key]!) }
            try extra?(file)
        }
    }

    /// Builds the HDF5 file in memory, lets `body` fill it, then writes its bytes to a
    /// temporary file beside `path` and renames that into place: a failure (a full disk)
    /// leaves any earlier file at `path` untouched and no temporary file behind, and every
    /// libhdf5 handle is closed on every path.
    public static func atomicWrite(to path: String, _ body: (HDF5File) throws -> Void) throws {
        let directory = directoryName(path)
        let (kind, code) = fileStatus(directory)
        guard kind == .directory else {
            let reason =
                kind != .missing
                ? " is not a directory" : meansAbsent(code) ? " does not exist" : ": \(errorText(code))"
            throw HDF5Error(path: path, "directory '\(directory)'\(reason)")
        }
        let image: [UInt8]
        do {
            let file = try HDF5File(path: path, mode: .memory)
            do {
                try body(file)
                image = try file.image()
            } catch {
                try? file.close()
                throw error
            }
            try file.close()
        } catch let error as HDF5Error {
            // Report the destination (a temporary or in-memory name means nothing to the user).
            throw HDF5Error(path: path, error.message)
        }
        do {
            try writeAtomically(image, to: path)
        } catch let error as FileError {
            throw HDF5Error(path: path, "cannot write file: \(error.reason)")
        }
    }
}
