package scanner

import (
	"context"
	"time"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
)

// noticeQueue bounds the health notices waiting to be published: a
// scanner whose NATS is away drops the excess (counted as
// NoticeErrors) rather than hold its checks; the dispatcher's pilots still
// watch the marks in etcd.
const noticeQueue = 4096

// startNotices connects the scanner's publisher (Options.NATSURL).
func (s *Scanner) startNotices() error {
	pub, err := publish.NewPublisher(s.opts.NATSURL, "octomesh-scanner "+s.opts.ID, s.opts.NATSTLS)
	if err != nil {
		return err
	}
	s.pub = pub
	s.notices = make(chan rules.Notice, noticeQueue)
	s.pubDone = make(chan struct{})
	go func() {
		defer close(s.pubDone)
		for {
			select {
			case <-s.ctx.Done():
				return
			case n := <-s.notices:
				ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
				err := pub.Publish(ctx, n)
				cancel()
				if err != nil {
					s.Stats.NoticeErrors.Add(1)
					if s.ctx.Err() == nil {
						s.log.Debug("scanner: cannot publish a health notice", "key", n.Key, "err", err)
					}
					continue
				}
				s.Stats.Notices.Add(1)
			}
		}
	}()
	return nil
}

// notify queues a health notice for the mark of (service, address),
// without waiting: publishing never holds a check.
func (s *Scanner) notify(service, address string) {
	if s.notices == nil {
		return
	}
	select {
	case s.notices <- rules.Notice{Kind: rules.KindHealth, Key: service + "/" + address}:
	default:
		s.Stats.NoticeErrors.Add(1)
	}
}

func (s *Scanner) stopNotices() {
	if s.pub == nil {
		return
	}
	<-s.pubDone
	s.pub.Close()
}
