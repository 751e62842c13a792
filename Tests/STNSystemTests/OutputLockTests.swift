import Foundation
import STNSystem
import XCTest

final class OutputLockTests: XCTestCase {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "stn-lock-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Two trainers writing the same output both ran, one silently overwriting the other.
    func testASecondWriterIsRefusedUntilTheFirstReleases() throws {
        let output = try directory() + "/w.h5"
        let first = try OutputLock(for: output)
        XCTAssertEqual(try String(contentsOfFile: output + ".lock", encoding: .utf8), "\(getpid())\n")
        XCTAssertThrowsError(try OutputLock(for: output)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(output): another process (pid \(getpid())) is writing this output and holds \(output).lock; wait for it or choose another output"
            )
        }
        first.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".lock"))
        let second = try OutputLock(for: output)
        second.release()
    }

    /// A writer killed with SIGKILL leaves its lock file, unlocked: the next writer takes it.
    func testALockDiesWithItsProcess() throws {
        let output = try directory() + "/w.h5"
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else {
            throw XCTSkip("flock(1) is not installed")
        }
        // One process (bash, then sleep in its place) holds the lock through descriptor 9,
        // and says so with a file once it does.
        let ready = output + ".ready"
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/bash")
        holder.arguments = ["-c", "exec 9>'\(output).lock'; /usr/bin/flock 9; touch '\(ready)'; exec sleep 60"]
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) && Date() < deadline { usleep(10_000) }
        XCTAssertThrowsError(try OutputLock(for: output)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(output): another process is writing this output and holds \(output).lock; wait for it or choose another output"
            )
        }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + ".lock"))
        let lock = try OutputLock(for: output)
        lock.release()
    }

    func testAMissingDirectoryIsOneLine() {
        XCTAssertThrowsError(try OutputLock(for: "/nonexistent-stn-dir/w.h5")) { error in
            XCTAssertEqual(
                "\(error)",
                "/nonexistent-stn-dir/w.h5: cannot create the lock file /nonexistent-stn-dir/w.h5.lock: No such file or directory"
            )
        }
    }
}
