package gh

// GitHub's size limits, in characters (GitHub answers 422 past them).
const (
	// CommentLimit is the most an issue or pull request comment holds.
	CommentLimit = 65536
	// CheckRunLimit is the most a check run's output.text (and
	// output.summary) holds.
	CheckRunLimit = 65535
)
