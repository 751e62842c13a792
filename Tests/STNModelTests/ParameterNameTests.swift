import Foundation
import STNLibHDF5
import XCTest

@testable import STNModel

/// The rule stn-train checks parameter names by (`isStorableParameterName`) is what a weight
/// file really does: a name passes exactly when the file written with it loads back.
final class ParameterNameTests: XCTestCase {
    func testTheStorableNameRuleMatchesWhatAWeightFileLoads() throws {
        let directory = NSTemporaryDirectory() + "stn-names-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let names = ["fc", "enc/fc", "a/b/c", "a/../b", "fc/", "/fc2", "a//b", "./fc", "a/./b", "fc/."]
        var verdicts: [String: Bool] = [:]
        for name in names {
            let text = "stn-model 1 name=t\ninput image 1x4x4\nflatten flat image\nlinear \(name) flat out=3\n"
            let architecture = try Architecture(parsing: text)
            let path = directory + "/w.h5"
            try WeightFile(weights: ModelWeights.zeros(architecture)).write(to: path)
            let loads = (try? WeightFile.read(path)) != nil
            let storable = architecture.parameters.allSatisfy { ModelDescription.isStorableParameterName($0.name) }
            XCTAssertEqual(
                storable, loads, "'\(name)': the rule says \(storable), the file \(loads ? "loads" : "does not")")
            verdicts[name] = loads
        }
        // The cases of issue 26, and a grouped name that works.
        XCTAssertEqual(verdicts["/fc2"], false)
        XCTAssertEqual(verdicts["a//b"], false)
        XCTAssertEqual(verdicts["enc/fc"], true)
    }

    /// params= names parameters only, so it is checked as the description is read.
    func testAParamsPrefixThatCannotBeStoredIsRefusedByLine() {
        let text = "stn-model 1 name=t\ninput image 1x4x4\nflatten flat image\nlinear fc flat out=3 params=a//b\n"
        XCTAssertThrowsError(try ModelDescription(parsing: text)) {
            XCTAssertEqual(($0 as? DescriptionError)?.line, 4)
            XCTAssertEqual(
                ($0 as? DescriptionError)?.message,
                "'a//b' cannot prefix parameter names: a weight file would not load them back (no leading '/', no '//', no '.' part)"
            )
        }
        XCTAssertNoThrow(
            try ModelDescription(parsing: text.replacingOccurrences(of: "params=a//b", with: "params=enc/fc")))
    }
}
