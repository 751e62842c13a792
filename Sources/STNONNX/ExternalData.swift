import Foundation  // Data, as SwiftProtobuf stores bytes fields
import ONNXProto
import STNSystem

/// Initializers whose data lives in a file beside the model (what torch's default exporter
/// writes: `MODEL.onnx.data`), read into the tensors so the importers see ordinary raw data.
///
/// The location is untrusted: it must name a file in the model's own folder or below it
/// (no absolute path, no `..`), and every offset and length must lie inside that file.
enum ExternalData {
    /// The most bytes one data file may have.
    static let maximumFileBytes = 1 << 31

    /// Replaces every external initializer's data in `graph` by the bytes it names, read
    /// from `directory` (the model's folder); nil when the model's bytes came without a path.
    static func resolve(_ graph: inout Onnx_GraphProto, directory: String?) throws {
        var files: [String: [UInt8]] = [:]
        for index in graph.initializer.indices {
            let tensor = graph.initializer[index]
            guard tensor.dataLocation == .external || !tensor.externalData.isEmpty else { continue }
            let name = shown(tensor.name)
            func fail(_ message: String) -> ONNXError { ONNXError("initializer '\(name)': \(message)") }
            var fields: [String: String] = [:]
            for entry in tensor.externalData { fields[entry.key] = entry.value }
            guard let location = fields["location"], !location.isEmpty else {
                throw fail("external data without a location")
            }
            let parts = location.split(separator: "/", omittingEmptySubsequences: false)
            guard !location.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }),
                !location.contains("\\")
            else {
                throw fail("external data file '\(shown(location))' is outside the model's folder (refused)")
            }
            guard let directory else {
                throw fail("keeps its data in '\(shown(location))' beside the model; convert the model from its file")
            }
            let path = directory.isEmpty ? location : directory + "/" + location
            if files[path] == nil {
                do {
                    files[path] = try readWholeFile(path, limit: maximumFileBytes)
                } catch {
                    throw fail("cannot read its external data: \(error)")
                }
            }
            let bytes = files[path]!
            func integer(_ key: String) throws -> Int? {
                guard let text = fields[key] else { return nil }
                guard let value = Int(text), value >= 0 else { throw fail("external data \(key) '\(shown(text))'") }
                return value
            }
            let offset = try integer("offset") ?? 0
            guard offset <= bytes.count else {
                throw fail(
                    "external data offset \(offset) is past the end of '\(shown(location))' (\(bytes.count) bytes)")
            }
            let length = try integer("length") ?? (bytes.count - offset)
            guard length <= bytes.count - offset else {
                throw fail(
                    "external data \(offset) + \(length) bytes run past the end of '\(shown(location))' (\(bytes.count) bytes)"
                )
            }
            var resolved = tensor
            resolved.externalData = []
            resolved.clearDataLocation()
            resolved.rawData = Data(bytes[offset ..< offset + length])
            graph.initializer[index] = resolved
        }
    }
}
