import STNSystem
import XCTest

final class FilesTests: XCTestCase {
    func testPathComponentsMatchDirnameAndBasename() {
        let cases: [(String, String, String)] = [
            ("a/b/c.h5", "a/b", "c.h5"), ("/x", "/", "x"), ("name", ".", "name"),
            ("/a/b/", "/a", "b"), ("/", "/", "/"), ("./w.h5", ".", "w.h5"),
        ]
        for (path, directory, base) in cases {
            XCTAssertEqual(directoryName(path), directory, path)
            XCTAssertEqual(baseName(path), base, path)
        }
    }

    func testWriteThenReadAndFailures() throws {
        let directory = "/tmp/stn-system-tests-\(getpid())-\(Int.random(in: 0 ..< 1 << 30))"
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        defer { _ = system("rm -rf '\(directory)'") }
        let path = directory + "/data.bin"
        let bytes = (0 ..< 10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try writeAtomically(bytes, to: path)
        XCTAssertEqual(try readWholeFile(path), bytes)
        XCTAssertEqual(fileKind(path), .file)
        XCTAssertEqual(fileKind(directory), .directory)
        XCTAssertThrowsError(try readWholeFile(path, limit: 9_999)) {
            XCTAssertTrue("\($0)".contains("too large"), "\($0)")
        }
        XCTAssertThrowsError(try readWholeFile(directory)) { XCTAssertEqual("\($0)", "\(directory): is a directory") }
        XCTAssertThrowsError(try readWholeFile(directory + "/none")) {
            XCTAssertEqual("\($0)", "\(directory)/none: no such file")
        }
        XCTAssertThrowsError(try writeAtomically(bytes, to: directory + "/no/such/f")) {
            XCTAssertEqual("\($0)", "\(directory)/no/such/f: directory '\(directory)/no/such' does not exist")
        }
        // Only the finished file is left: no temporary beside it.
        XCTAssertEqual(try readWholeFile(path), bytes)
        var entries: [String] = []
        if let handle = opendir(directory) {
            while let entry = readdir(handle) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name != "." && name != ".." { entries.append(name) }
            }
            closedir(handle)
        }
        XCTAssertEqual(entries, ["data.bin"])
    }

    func testEnvironmentAndProcessors() {
        setenv("STN_SYSTEM_TEST", "value", 1)
        XCTAssertEqual(environmentValue("STN_SYSTEM_TEST"), "value")
        setenv("STN_SYSTEM_TEST", "", 1)
        XCTAssertNil(environmentValue("STN_SYSTEM_TEST"))
        XCTAssertGreaterThanOrEqual(processorCount(), 1)
        XCTAssertNotNil(executablePath())
    }

    func testCreateDirectoriesLikeMkdirP() throws {
        let directory = "/tmp/stn-system-tests-\(getpid())-\(Int.random(in: 0 ..< 1 << 30))"
        defer { _ = system("rm -rf '\(directory)'") }
        try createDirectories(directory + "/a/b/c")
        XCTAssertEqual(fileKind(directory + "/a/b/c"), .directory)
        try createDirectories(directory + "/a/b/c/")  // exists: fine
        try writeAtomically([1], to: directory + "/file")
        XCTAssertThrowsError(try createDirectories(directory + "/file")) {
            XCTAssertEqual("\($0)", "\(directory)/file: exists and is not a directory")
        }
        XCTAssertThrowsError(try createDirectories(directory + "/file/sub")) {
            XCTAssertEqual("\($0)", "\(directory)/file: exists and is not a directory")
        }
    }
}
