import CSTN
import STNEngine

// stn.h's functions (Sources/CSTN/include/stn.h documents them). Nothing here traps on bad
// input: every failure becomes a status code and a one-line message.

@_cdecl("stn_engine_create_from_file")
public func stnEngineCreateFromFile(
    _ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ message: UnsafeMutablePointer<CChar>?, _ messageSize: UInt
) -> stn_status {
    guard let path else { return fail(STN_ERROR_ARGUMENT, "the path is NULL", message, messageSize) }
    return create(out, message, messageSize) { try Engine(weightsAt: String(cString: path), threads: 1) }
}

@_cdecl("stn_engine_create_from_bytes")
public func stnEngineCreateFromBytes(
    _ bytes: UnsafeRawPointer?, _ byteCount: UInt, _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ message: UnsafeMutablePointer<CChar>?, _ messageSize: UInt
) -> stn_status {
    guard let bytes else { return fail(STN_ERROR_ARGUMENT, "the weight bytes are NULL", message, messageSize) }
    // size_t as it is: a huge count (a negative number cast) is named, not read as negative.
    guard let count = Int(exactly: byteCount) else {
        return fail(
            STN_ERROR_ARGUMENT, "the byte count \(byteCount) is larger than any buffer (at most \(Int.max))", message,
            messageSize)
    }
    return create(out, message, messageSize) {
        try Engine(weightFileBytes: UnsafeRawBufferPointer(start: bytes, count: count), threads: 1)
    }
}

@_cdecl("stn_engine_input_shape")
public func stnEngineInputShape(
    _ handle: OpaquePointer?, _ channels: UnsafeMutablePointer<Int32>?, _ height: UnsafeMutablePointer<Int32>?,
    _ width: UnsafeMutablePointer<Int32>?
) {
    let shape = handle.map { engine($0).inputShape }
    channels?.pointee = Int32(shape?.channels ?? 0)
    height?.pointee = Int32(shape?.height ?? 0)
    width?.pointee = Int32(shape?.width ?? 0)
}

@_cdecl("stn_engine_frame_size")
public func stnEngineFrameSize(_ handle: OpaquePointer?) -> UInt {
    handle.map { UInt(engine($0).frameCount) } ?? 0
}

@_cdecl("stn_engine_infer")
public func stnEngineInfer(
    _ handle: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ pixelCount: UInt,
    _ result: UnsafeMutablePointer<stn_result>?, _ message: UnsafeMutablePointer<CChar>?, _ messageSize: UInt
) -> stn_status {
    guard let handle else { return fail(STN_ERROR_ARGUMENT, "the engine is NULL", message, messageSize) }
    guard let pixels else { return fail(STN_ERROR_ARGUMENT, "the pixels are NULL", message, messageSize) }
    guard let result else { return fail(STN_ERROR_ARGUMENT, "the result is NULL", message, messageSize) }
    let engine = engine(handle)
    guard pixelCount == UInt(engine.frameCount) else {
        let shape = engine.inputShape
        return fail(
            STN_ERROR_ARGUMENT,
            "the frame has \(pixelCount) pixels; the model takes \(engine.frameCount) "
                + "(\(shape.height) x \(shape.width) x \(shape.channels))",
            message, messageSize)
    }
    var answer = InferenceResult()
    engine.infer(pixels: pixels, into: &answer)
    result.pointee.label = Int32(answer.digit)
    result.pointee.probability = answer.probability
    result.pointee.class_count = Int32(answer.classCount)
    withUnsafeMutableBytes(of: &result.pointee.log_probs) { storage in
        let logProbs = storage.bindMemory(to: Float.self)
        for i in 0 ..< logProbs.count { logProbs[i] = i < answer.classCount ? answer.logProbs[i] : 0 }
    }
    result.pointee.theta_count = Int32(answer.thetaCount)
    withUnsafeMutableBytes(of: &result.pointee.theta) { storage in
        let theta = storage.bindMemory(to: Float.self)
        for i in 0 ..< theta.count { theta[i] = i < answer.thetaCount ? answer.theta[i] : 0 }
    }
    guard answer.isFinite else {
        return fail(
            STN_ERROR_NON_FINITE, "non-finite output (a logit or theta is NaN or infinite)", message, messageSize)
    }
    writeMessage("", message, messageSize)
    return stn_status(STN_OK)
}

@_cdecl("stn_engine_destroy")
public func stnEngineDestroy(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<Engine>.fromOpaque(UnsafeRawPointer(handle)).release()
}

private func engine(_ handle: OpaquePointer) -> Engine {
    Unmanaged<Engine>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// Builds an engine into `*out`, or returns the error's code and message (`*out` NULL).
private func create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ message: UnsafeMutablePointer<CChar>?, _ messageSize: UInt,
    _ make: () throws -> Engine
) -> stn_status {
    guard let out else { return fail(STN_ERROR_ARGUMENT, "the engine pointer (out) is NULL", message, messageSize) }
    out.pointee = nil
    do {
        let engine = try make()
        out.pointee = OpaquePointer(Unmanaged.passRetained(engine).toOpaque())
        writeMessage("", message, messageSize)
        return stn_status(STN_OK)
    } catch let error as EngineError {
        return fail(STN_ERROR_MODEL, error.description, message, messageSize)
    } catch {
        return fail(STN_ERROR_WEIGHTS, "\(error)", message, messageSize)
    }
}

private func fail(
    _ status: Int, _ text: String, _ message: UnsafeMutablePointer<CChar>?, _ messageSize: UInt
) -> stn_status {
    writeMessage(text, message, messageSize)
    return stn_status(status)
}

/// Copies `text` into the caller's buffer, cut to fit and NUL-terminated.
private func writeMessage(_ text: String, _ message: UnsafeMutablePointer<CChar>?, _ messageSize: UInt) {
    guard let message, messageSize > 0 else { return }
    var written = 0
    for byte in text.utf8 where written < messageSize - 1 {
        message[written] = CChar(bitPattern: byte)
        written += 1
    }
    message[written] = 0
}
