import Foundation
import STNModel

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

    /// Creates an HDF5 file at a temporary name beside `path`, lets `body` fill it, then
    /// renames it into place. On any failure the temporary file is removed.
    public static func atomicWrite(to path: String, _ body: (HDF5File) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory else {
            throw HDF5Error(path: path, "directory '\(directory)' does not exist")
        }
        let temporary = directory + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        do {
            do {
                let file = try HDF5File(path: temporary, mode: .create)
                try body(file)
                try file.flush()
            }  // the file is closed here, before the rename
            guard rename(temporary, path) == 0 else {
                throw HDF5Error(
                    path: path, "cannot rename temporary file into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as HDF5Error {
            unlink(temporary)
            // Report the destination, not the temporary name the user never chose.
            throw HDF5Error(path: path, error.message)
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
