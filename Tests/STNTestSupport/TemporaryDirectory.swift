import Foundation
import XCTest

/// A fresh directory under the system's temporary directory, named `prefix-UUID`, removed
/// when `test` ends.
public func temporaryDirectory(for test: XCTestCase, prefix: String = "stn-tests") throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}
