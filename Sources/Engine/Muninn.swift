/// Build-wide facts about Muninn.
public enum Muninn {
    /// The release version, printed by `muninn --version`.
    public static let version = "0.1.0"
}
