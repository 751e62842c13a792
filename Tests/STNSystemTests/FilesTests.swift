import Foundation
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

    /// errno was overwritten before it was reported: a read-only place and a name too long
    /// both said "No such file or directory". Each failure now names its own errno.
    func testFailuresReportTheirOwnErrno() throws {
        let directory = "/tmp/stn-system-tests-\(getpid())-\(Int.random(in: 0 ..< 1 << 30))"
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        defer { _ = system("rm -rf '\(directory)'") }
        let long = directory + "/" + String(repeating: "a", count: 300)
        XCTAssertThrowsError(try createDirectories(long)) {
            XCTAssertEqual("\($0)", "\(long): cannot create directory: File name too long")
        }
        XCTAssertThrowsError(try writeAtomically([1], to: long)) {
            XCTAssertEqual("\($0)", "\(long): File name too long")
        }
        // sysfs refuses new files even to root (EACCES), where a read-only mode would not.
        guard fileKind("/sys/kernel") == .directory, open("/sys/kernel/stn-probe", O_WRONLY | O_CREAT, 0o644) < 0,
            errno == EACCES
        else { throw XCTSkip("no read-only /sys/kernel here") }
        // What the kernel says to mkdir there (EPERM for root, EACCES otherwise) is what is reported.
        XCTAssertEqual(mkdir("/sys/kernel/stn-test", 0o755), -1)
        let refusal = String(cString: strerror(errno))
        XCTAssertThrowsError(try createDirectories("/sys/kernel/stn-test/sub")) {
            XCTAssertEqual("\($0)", "/sys/kernel/stn-test: cannot create directory: \(refusal)")
        }
        XCTAssertThrowsError(try writeAtomically([1], to: "/sys/kernel/stn-test.bin")) {
            XCTAssertEqual(
                "\($0)", "/sys/kernel/stn-test.bin: directory '/sys/kernel' is not writable (Permission denied)")
        }
    }

    /// A failed stat read as "no such file" whatever the reason, a symbolic-link loop too.
    func testASymbolicLinkLoopIsNotAMissingFile() throws {
        let directory = "/tmp/stn-system-tests-\(getpid())-\(Int.random(in: 0 ..< 1 << 30))"
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        defer { _ = system("rm -rf '\(directory)'") }
        let loop = directory + "/loop"
        XCTAssertEqual(symlink(directory + "/other", loop), 0)
        XCTAssertEqual(symlink(loop, directory + "/other"), 0)
        XCTAssertEqual(fileStatus(loop).kind, .missing)
        XCTAssertEqual(fileStatus(loop).errorCode, ELOOP)
        XCTAssertEqual(fileStatus(directory + "/none").errorCode, ENOENT)
        XCTAssertThrowsError(try readWholeFile(loop)) {
            XCTAssertEqual("\($0)", "\(loop): Too many levels of symbolic links")
        }
        XCTAssertThrowsError(try createDirectories(loop + "/sub")) {
            XCTAssertEqual("\($0)", "\(loop)/sub: cannot create directory: Too many levels of symbolic links")
        }
        XCTAssertThrowsError(try writeAtomically([1], to: loop + "/f")) {
            XCTAssertEqual("\($0)", "\(loop)/f: directory '\(loop)': Too many levels of symbolic links")
        }
    }

    /// kill -9 between creating `.NAME.PID.tmp` and renaming it left the file for good; the
    /// next atomic write to NAME removes those of processes that are gone, and only those.
    func testAtomicWriteRemovesTemporariesOfWritersThatAreGone() throws {
        let directory = "/tmp/stn-system-tests-\(getpid())-\(Int.random(in: 0 ..< 1 << 30))"
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        defer { _ = system("rm -rf '\(directory)'") }
        // A process that has exited and been waited for: its pid names no process.
        var child: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { for argument in arguments { free(argument) } }
        XCTAssertEqual(posix_spawn(&child, "/bin/true", nil, nil, arguments, nil), 0)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(child, &status, 0), child)
        XCTAssertEqual(kill(child, 0), -1)
        let living = getppid()
        let stale = ".w.h5.\(child).tmp"
        let kept = [".w.h5.\(living).tmp", ".w.h5.x1.tmp", ".other.h5.\(child).tmp", ".w.h5.\(child).tmp.bak"]
        // Left by other processes (this one lists a directory once, at its first atomic write).
        for name in [stale] + kept { XCTAssertEqual(close(open(directory + "/" + name, O_WRONLY | O_CREAT, 0o644)), 0) }
        try writeAtomically([1, 2, 3], to: directory + "/w.h5")
        XCTAssertEqual(try readWholeFile(directory + "/w.h5"), [1, 2, 3])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), (kept + ["w.h5"]).sorted())
    }
}
