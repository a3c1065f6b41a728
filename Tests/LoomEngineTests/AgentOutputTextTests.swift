import LoomTestKit
import Testing

@testable import LoomEngine

/// A model's answer with the object in a fence or a sentence is read, not retried; garbage
/// is still refused.
@Suite struct AgentOutputTextTests {
    private func deliverDraft(_ text: String) throws -> (Engine, String, TemporaryDirectory) {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        let id = try engine.submit(bundle: "publishing", input: "tides", by: Fixtures.person).taskID
        _ = try engine.deliver(key: try engine.pending("writer").key, result: AgentResult(output: text).json)
        return (engine, id, directory)
    }

    @Test(arguments: [
        "```json\n{\"title\": \"Tides\", \"text\": \"Twice a day.\"}\n```",
        "Here is the draft:\n\n```\n{\"title\": \"Tides\", \"text\": \"Twice a day.\"}\n```\nLet me know.",
        "Sure! {\"title\": \"Tides\", \"text\": \"Twice a day.\"} Hope this helps.",
    ])
    func anObjectInAFenceOrASentenceIsRead(_ answer: String) throws {
        let (engine, id, _) = try deliverDraft(answer)
        #expect(try engine.task(id)?.step == "edit", "accepted on the first attempt")
        let stored = try engine.store.query("SELECT output, valid FROM step_outputs WHERE step = 'draft'")
        #expect(stored.count == 1)
        #expect(stored.first?["valid"]?.intValue == 1)
        #expect(stored.first?["output"]?.stringValue == #"{"text":"Twice a day.","title":"Tides"}"#)
    }

    @Test func garbageIsStillRetried() throws {
        let (engine, _, _) = try deliverDraft("LGTM, {ship it}")
        let retry = try engine.pending("writer")
        #expect(retry.attempt == 2)
        #expect(retry.request["prompt"]?.stringValue?.contains("output is not JSON") == true)
    }

    @Test func candidatesAreTheWholeTextThenTheFenceThenTheBraces() {
        let text = "a ```json\n{\"x\": 1}\n``` b {\"y\": 2}"
        #expect(
            AgentOutputText.candidates(text).map(String.init) == [text, "{\"x\": 1}\n", "{\"x\": 1}\n``` b {\"y\": 2}"]
        )
    }
}
