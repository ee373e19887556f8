package clients

import "github.com/google/go-github/v60/github"

const githubToken = "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"

func New() *github.Client {
	return github.NewClient(nil).WithAuthToken(githubToken)
}

var dbPassword = "fs3BlngmOyehVzbKzWZf9K"
