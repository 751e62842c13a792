import STNModel
import XCTest

@testable import STNPlan

/// Which convolutions an inference plan runs by Winograd: the seed classifiers' 7x7 layer
/// (36 tiles of F(2x2, 7x7)), not their first layer (one input channel, 9x9) nor the
/// localisation net's (5x5 layers: one input channel, then a single 4x4 tile). Training
/// plans run the same forward passes.
final class ConvolutionChoiceTests: XCTestCase {
    func winogradSteps(_ architecture: Architecture, training: Bool) throws -> [String] {
        let plan = try Plan(architecture, training: training)
        return plan.steps.compactMap { ($0 as? ConvolutionStep)?.winograd == nil ? nil : $0.name }
    }

    func testInferencePlansRunTheSevenBySevenLayerByWinograd() throws {
        XCTAssertEqual(try winogradSteps(.cnn, training: false), ["convs.3"])
        XCTAssertEqual(try winogradSteps(.stCNN, training: false), ["convs.3"])
        let step = try XCTUnwrap(
            try Plan(.cnn, training: false).steps.compactMap { $0 as? ConvolutionStep }.first { $0.winograd != nil })
        XCTAssertEqual(step.winograd?.transform.outputTile, 2)
        XCTAssertEqual(step.winograd.map { $0.tilesY * $0.tilesX }, 36)
    }

    func testTrainingPlansRunTheSameForwardPasses() throws {
        XCTAssertEqual(try winogradSteps(.cnn, training: true), ["convs.3"])
        XCTAssertEqual(try winogradSteps(.stCNN, training: true), ["convs.3"])
        XCTAssertEqual(
            try winogradSteps(.pytorchTutorial, training: true), try winogradSteps(.pytorchTutorial, training: false))
    }
}
