// Package alerts delivers cluster events (package events, store.Event) to
// the alerts configured in the replicated store (store.Alert): webhooks
// (the event POSTed as JSON, HMAC-signed when a secret is set), e-mail over
// SMTP, and Pacemaker alert agents run with the CRM_alert_* environment.
//
// Who delivers: the leader's Deliverer, once per event and alert. Each
// alert has its own goroutine and bounded queue, so a slow or dead
// receiver delays nothing but its own deliveries (never the controller,
// which does not know this package). Every delivery and failure is
// recorded as an event (alert-delivered, alert-failed, with Ref naming the
// delivered event). A leader that takes over delivers the events of the
// last RedeliverWindow that have no such record: at least once (a
// delivery the old leader made but had not recorded is made again).
package alerts
