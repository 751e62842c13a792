import Foundation
import XCTest

/// Where the tests find the package's files, found from this file's path (the tests run
/// from any working directory).
public enum FixturePaths {
    /// The package root.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`, the committed fixtures.
    public static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    /// The path of `relative` under `Tests/Fixtures`.
    public static func fixture(_ relative: String) -> String {
        fixtures.appendingPathComponent(relative).path
    }

    /// The path of `relative` under the package root (`Weights/st-cnn.h5`).
    public static func inPackage(_ relative: String) -> String {
        packageRoot.appendingPathComponent(relative).path
    }

    /// MNIST from $STN_DATA, else ../shared/data/mnist beside the package; skips the test if
    /// neither holds it.
    public static func mnistDirectory() throws -> String {
        let directory =
            ProcessInfo.processInfo.environment["STN_DATA"]
            ?? packageRoot.appendingPathComponent("../shared/data/mnist").standardized.path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw XCTSkip("MNIST not found at \(directory): set STN_DATA")
        }
        return directory
    }
}
