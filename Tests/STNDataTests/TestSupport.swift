import Foundation
import STNData
import XCTest

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func fixture(_ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/Fixtures/\(name)").path
}

/// MNIST from $STN_DATA, else ../shared/data/mnist beside the package; skips if absent.
func mnistDirectory() throws -> String {
    let directory =
        ProcessInfo.processInfo.environment["STN_DATA"]
        ?? packageRoot.appendingPathComponent("../shared/data/mnist").standardized.path
    guard FileManager.default.fileExists(atPath: directory) else {
        throw XCTSkip("MNIST not found at \(directory): set STN_DATA")
    }
    return directory
}

/// A fresh temporary directory, removed by the test's teardown block.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "stn-data-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}
