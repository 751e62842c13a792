import STNSystem

/// A CSV list of labelled images: one `path,label` line per image (a first line `path,label`
/// is a header; blank lines are skipped; a field may be double-quoted, `""` inside quotes
/// being a quote). A relative path is relative to the CSV file's folder.
///
/// Labels are class indices when every one is a whole number, else class names, the classes
/// then sorted as an image folder's are. With known class names (`--classes`, or the
/// training data's for a test list) a label is a name among them or an index into them.
public enum LabelCSV {
    public struct Listing: Sendable {
        /// Nil when the labels are indices and no names were known.
        public var classNames: [String]?
        public var images: ImageFileSet
    }

    public static func read(_ path: String, known: [String]? = nil, knownSource: String? = nil) throws -> Listing {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path, limit: 1 << 30)
        } catch let error as FileError {
            throw DataError(path, "cannot read the list: \(error.reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataError(path, "not UTF-8 text (a CSV of path,label lines)")
        }
        let folder = directoryName(path)
        var rows: [(line: Int, path: String, label: String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.trimmingSpaces.isEmpty { continue }
            let fields = try fields(of: line, path: path, line: number + 1)
            guard fields.count == 2 else {
                throw DataError(
                    path,
                    "line \(number + 1): \(fields.count) fields, expected 2 (path,label; quote a path with a comma)")
            }
            let label = String(Substring(fields[1]).trimmingSpaces)
            if rows.isEmpty && fields[0].lowercased() == "path" && label.lowercased() == "label" { continue }
            guard !fields[0].isEmpty else { throw DataError(path, "line \(number + 1): the path is empty") }
            guard !label.isEmpty else { throw DataError(path, "line \(number + 1): the label is empty") }
            let file = fields[0].hasPrefix("/") ? fields[0] : joinPath(folder, fields[0])
            rows.append((number + 1, file, label))
        }
        guard !rows.isEmpty else { throw DataError(path, "lists no images (expected path,label lines)") }

        let allIndices = rows.allSatisfy { isIndex($0.label) }
        var classNames = known
        if known == nil && !allIndices {
            classNames = ClassNames.sorted(Array(Set(rows.map(\.label))))
            try ClassNames.check(classNames!, source: path)
        }
        var entries: [ImageFileSet.Entry] = []
        entries.reserveCapacity(rows.count)
        for row in rows {
            let label: Int
            if let names = classNames, let index = names.firstIndex(of: row.label) {
                label = index
            } else if isIndex(row.label), let index = Int(row.label) {
                let classes = classNames?.count ?? ClassNames.maximumCount
                guard index < classes else {
                    throw DataError(
                        path,
                        "line \(row.line): label \(row.label) is not a class \(classNames == nil ? "index 0-\(classes - 1)" : "of \(knownSource ?? "the data") (0-\(classes - 1))")"
                    )
                }
                label = index
            } else {
                throw DataError(path, "line \(row.line): '\(row.label)' is not a class of \(knownSource ?? "the data")")
            }
            entries.append(ImageFileSet.Entry(path: row.path, label: UInt8(label)))
        }
        return Listing(classNames: classNames, images: ImageFileSet(source: path, entries: entries))
    }

    /// A label of digits only (a class index).
    static func isIndex(_ label: String) -> Bool {
        !label.isEmpty && label.count <= 9 && label.utf8.allSatisfy { (0x30 ... 0x39).contains($0) }
    }

    /// The comma-separated fields of one line, double quotes honoured.
    static func fields(of line: Substring, path: String, line number: Int) throws -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var wasQuoted = false
        var characters = line.makeIterator()
        while let c = characters.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a quote; a single one ends the quoted part.
                    var lookahead = characters
                    if lookahead.next() == "\"" {
                        field.append("\"")
                        characters = lookahead
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "," {
                fields.append(wasQuoted ? field : String(Substring(field).trimmingSpaces))
                field = ""
                wasQuoted = false
            } else if c == "\"" && Substring(field).trimmingSpaces.isEmpty && !wasQuoted {
                field = ""
                quoted = true
                wasQuoted = true
            } else {
                field.append(c)
            }
        }
        guard !quoted else { throw DataError(path, "line \(number): a quoted field is not closed") }
        fields.append(wasQuoted ? field : String(Substring(field).trimmingSpaces))
        return fields
    }
}
