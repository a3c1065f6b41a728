import LoomIPC
import LoomValues
import Testing

/// Request envelopes and the wire form of errors.
@Suite struct EnvelopeTests {
    private func rejects(_ json: JSONValue, mentioning word: String) {
        do {
            _ = try IPCRequest(json: json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.code == .invalidParams)
            #expect(error.message.contains(word), "\(error.message)")
        }
    }

    @Test func roundTrip() throws {
        let request = IPCRequest(id: 7, method: "status", params: ["verbose": true])
        #expect(request.json == ["v": 1, "id": 7, "method": "status", "params": ["verbose": true]])
        #expect(try IPCRequest(json: request.json) == request)
    }

    @Test func missingParamsReadsAsEmptyObject() throws {
        let request = try IPCRequest(json: ["v": 1, "id": 1, "method": "x"])
        #expect(request.params == .object([:]))
    }

    @Test func invalidEnvelopes() {
        rejects([1, 2], mentioning: "object")
        rejects(["id": 1, "method": "x"], mentioning: "\"v\"")
        rejects(["v": 2, "id": 1, "method": "x"], mentioning: "version")
        rejects(["v": 1, "id": "1", "method": "x"], mentioning: "id")
        rejects(["v": 1, "id": 0, "method": "x"], mentioning: "positive")
        rejects(["v": 1, "id": 1, "method": 3], mentioning: "method")
        rejects(["v": 1, "id": 1, "method": ""], mentioning: "method")
        rejects(["v": 1, "id": 1, "method": .string(String(repeating: "m", count: 65))], mentioning: "64")
        rejects(["v": 1, "id": 1, "method": "x", "params": [1]], mentioning: "params")
    }

    @Test func methodAtTheLengthLimitIsAccepted() throws {
        let name = String(repeating: "m", count: IPCRequest.maxMethodBytes)
        #expect(try IPCRequest(json: ["v": 1, "id": 1, "method": .string(name)]).method == name)
    }

    @Test func errorWireForm() {
        let error = IPCError(.notFound, "no run 12")
        #expect(error.json == ["code": "not_found", "message": "no run 12"])
        #expect(IPCError(json: error.json) == error)
        #expect(IPCError(json: ["code": "nonsense", "message": "x"]) == nil)
        #expect(IPCError(json: ["code": "busy"]) == nil)
        #expect(error.description == "not_found: no run 12")
    }

    @Test func errorCodesAreTheClosedSet() {
        #expect(
            IPCErrorCode.allCases.map(\.rawValue) == [
                "bad_frame", "too_large", "bad_json", "unknown_method", "invalid_params",
                "not_found", "forbidden", "conflict", "busy", "unavailable", "internal",
            ]
        )
    }
}
