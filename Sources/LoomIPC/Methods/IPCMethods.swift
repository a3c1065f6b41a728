/// Every method loomd answers, in the order docs/ipc-protocol.md lists them. loomd routes
/// exactly these (a test holds it to that).
public enum IPCMethods {
    public static let all: [any IPCMethod.Type] = [
        Submit.self, Status.self, Gates.self, Tasks.self, Log.self, Answer.self, Cancel.self, Replay.self,
        Metrics.self, Watch.self, Bundles.self, Graph.self,
        ProjectsList.self, ProjectsAdd.self, ProjectsRemove.self, ProjectsClearQuarantine.self,
        HostsAttach.self, EffectsPending.self, EffectsDeliver.self,
    ]
}
