package bot

// One user's messages run one at a time, in arrival order (within this
// process; UserLock orders them across nodes).

// userQueue chains one user's messages so they run one at a time in order.
type userQueue struct {
	tail chan struct{} // closed when the last queued message is done
	n    int           // messages queued or running
}

// enqueue appends a message to its user's queue. It returns the channel to
// wait on (nil when the user has nothing running) and the one to close when
// done. wh.mu must be held.
func (wh *Webhook) enqueue(openID string) (prev, mine chan struct{}) {
	q := wh.users[openID]
	if q == nil {
		q = &userQueue{}
		wh.users[openID] = q
	}
	prev, mine = q.tail, make(chan struct{})
	q.tail = mine
	q.n++
	return prev, mine
}

// dequeue lets the user's next message run, and forgets the user when
// nothing of theirs is queued. wh.mu must be held.
func (wh *Webhook) dequeue(openID string, mine chan struct{}) {
	close(mine)
	q := wh.users[openID]
	q.n--
	if q.n == 0 {
		delete(wh.users, openID)
	}
}
