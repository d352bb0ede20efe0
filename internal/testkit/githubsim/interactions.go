package githubsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Scripted people: comments, reactions, reviews, check run buttons, and the
// permissions and teams that decide what they may do.

// Comment posts body on pull request number as user ("issue_comment"
// created) and returns the comment ID.
func (s *Sim) Comment(fullName string, number int, user, body string) (int64, error) {
	var id int64
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		c, err := s.addComment(r, number, user, body)
		if err != nil {
			return nil, err
		}
		id = c.c.GetID()
		return []outgoing{{"issue_comment", s.issueCommentEvent("created", r, c, user, nil)}}, nil
	})
	return id, err
}

// EditComment changes a comment's body as user ("edited", changes.body.from).
func (s *Sim) EditComment(fullName string, id int64, user, body string) error {
	return s.act(func() ([]outgoing, error) {
		r, c, err := s.commentLocked(fullName, id)
		if err != nil {
			return nil, err
		}
		if err := checkCommentBody(body); err != nil {
			return nil, err
		}
		old := c.c.GetBody()
		c.c.Body, c.c.UpdatedAt = github.String(body), ts(now())
		return []outgoing{{"issue_comment", s.issueCommentEvent("edited", r, c, user, &github.EditChange{Body: &github.EditBody{From: github.String(old)}})}}, nil
	})
}

// DeleteComment deletes a comment as user ("deleted").
func (s *Sim) DeleteComment(fullName string, id int64, user string) error {
	return s.act(func() ([]outgoing, error) {
		r, c, err := s.commentLocked(fullName, id)
		if err != nil {
			return nil, err
		}
		ev := s.issueCommentEvent("deleted", r, c, user, nil)
		r.removeComment(id)
		return []outgoing{{"issue_comment", ev}}, nil
	})
}

func (s *Sim) commentLocked(fullName string, id int64) (*repo, *comment, error) {
	r, err := s.repoLocked(fullName)
	if err != nil {
		return nil, nil, err
	}
	c := r.comment(id)
	if c == nil {
		return nil, nil, fmt.Errorf("githubsim: no comment %d in %s", id, fullName)
	}
	return r, c, nil
}

// React adds user's reaction to a comment; GitHub sends no webhook for it.
func (s *Sim) React(fullName string, commentID int64, user, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(fullName)
	if err != nil {
		return err
	}
	_, _, err = s.addReaction(r, commentID, user, content)
	return err
}

// ReviewOptions describes a pull request review.
type ReviewOptions struct {
	User  string
	State string // APPROVED, CHANGES_REQUESTED or COMMENTED
	Body  string
}

// Review submits a review of the current head as user and sends
// pull_request_review "submitted".
func (s *Sim) Review(fullName string, number int, user, state string) (int64, error) {
	return s.ReviewWith(fullName, number, ReviewOptions{User: user, State: state})
}

// ReviewWith is Review with a body.
func (s *Sim) ReviewWith(fullName string, number int, o ReviewOptions) (int64, error) {
	var id int64
	err := s.act(func() ([]outgoing, error) {
		r, p, err := s.pullLocked(fullName, number)
		if err != nil {
			return nil, err
		}
		if !slices.Contains([]string{"APPROVED", "CHANGES_REQUESTED", "COMMENTED"}, o.State) {
			return nil, fmt.Errorf("githubsim: review state %q is not APPROVED, CHANGES_REQUESTED or COMMENTED", o.State)
		}
		if p.state != "open" {
			return nil, refuse(http.StatusUnprocessableEntity, "Pull request is closed")
		}
		if o.State != "COMMENTED" && strings.EqualFold(o.User, p.author) {
			verb := map[string]string{"APPROVED": "approve", "CHANGES_REQUESTED": "request changes on"}[o.State]
			return nil, refuse(http.StatusUnprocessableEntity, "Can not "+verb+" your own pull request")
		}
		id = s.st.next("review")
		full := r.fullName()
		rv := &github.PullRequestReview{
			ID:                github.Int64(id),
			NodeID:            nodeID("PRR", id),
			User:              s.userObj(o.User),
			Body:              github.String(o.Body),
			State:             github.String(o.State),
			SubmittedAt:       ts(now()),
			CommitID:          github.String(s.headSHA(r, p)),
			HTMLURL:           github.String(s.webURL("%s/pull/%d#pullrequestreview-%d", full, number, id)),
			PullRequestURL:    github.String(s.apiURL("repos/%s/pulls/%d", full, number)),
			AuthorAssociation: github.String(s.association(r, o.User)),
		}
		r.reviews[number] = append(r.reviews[number], rv)
		return []outgoing{{"pull_request_review", s.reviewEvent("submitted", r, p, rv, o.User)}}, nil
	})
	return id, err
}

// DismissReview dismisses a review as user ("dismissed").
func (s *Sim) DismissReview(fullName string, number int, reviewID int64, user, message string) error {
	return s.act(func() ([]outgoing, error) {
		r, p, err := s.pullLocked(fullName, number)
		if err != nil {
			return nil, err
		}
		for _, rv := range r.reviews[number] {
			if rv.GetID() == reviewID {
				rv.State = github.String("DISMISSED")
				return []outgoing{{"pull_request_review", s.reviewEvent("dismissed", r, p, rv, user)}}, nil
			}
		}
		return nil, fmt.Errorf("githubsim: no review %d on %s#%d", reviewID, fullName, number)
	})
}

// RerequestCheckRun is a user pressing "Re-run" ("check_run" rerequested).
func (s *Sim) RerequestCheckRun(fullName string, id int64, user string) error {
	return s.checkRunAction(fullName, id, user, "rerequested", nil)
}

// RequestCheckRunAction is a user pressing one of a check run's action
// buttons ("check_run" requested_action).
func (s *Sim) RequestCheckRunAction(fullName string, id int64, user, identifier string) error {
	return s.checkRunAction(fullName, id, user, "requested_action", &github.RequestedAction{Identifier: identifier})
}

func (s *Sim) checkRunAction(fullName string, id int64, user, action string, ra *github.RequestedAction) error {
	return s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		cr := r.checkRun(id)
		if cr == nil {
			return nil, fmt.Errorf("githubsim: no check run %d in %s", id, fullName)
		}
		if cr.app != nil {
			return nil, nil // GitHub tells only the App that made the run
		}
		ev := s.checkRunEvent(action, r, cr, user)
		ev.RequestedAction = ra
		return []outgoing{{"check_run", ev}}, nil
	})
}

// SetPermission grants user admin, write or read on the repository ("" or
// "none" revokes). Unknown users have none.
func (s *Sim) SetPermission(fullName, user, perm string) error {
	if !slices.Contains([]string{"admin", "write", "read", "none", ""}, perm) {
		return fmt.Errorf("githubsim: permission %q is not admin, write, read or none", perm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(fullName)
	if err != nil {
		return err
	}
	if perm == "" || perm == "none" {
		delete(r.perms, strings.ToLower(user))
	} else {
		r.perms[strings.ToLower(user)] = perm
	}
	return nil
}

// AddTeamMember makes user an active member of org's team.
func (s *Sim) AddTeamMember(org, teamSlug, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(org + "/" + teamSlug)
	if s.st.teams[key] == nil {
		s.st.teams[key] = map[string]bool{}
	}
	s.st.teams[key][strings.ToLower(user)] = true
}

// RemoveTeamMember undoes AddTeamMember.
func (s *Sim) RemoveTeamMember(org, teamSlug, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.st.teams[strings.ToLower(org+"/"+teamSlug)], strings.ToLower(user))
}

// SetUserType sets the account type of user: "User", "Organization" or
// "Bot".
func (s *Sim) SetUserType(user, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(user)
	u.typ, u.typeForced = typ, true
}
