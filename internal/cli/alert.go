package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newAlertCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "Deliver cluster events to webhooks, e-mail and Pacemaker alert agents",
		Long: `Alerts deliver the cluster's events (see paceline events) as they are recorded:
a webhook gets each event POSTed as JSON (signed with an HMAC-SHA256 header,
X-Paceline-Signature: sha256=HEX, when an hmac secret is set), an e-mail
recipient gets a mail through an SMTP server, a script is run as Pacemaker
runs its alert agents (the CRM_alert_* environment; the samples in
/usr/share/pacemaker/alerts work unmodified).

The leader delivers each event once per alert, from its own queue, never
delaying the cluster; failed deliveries are retried with backoff, and every
delivery and failure is itself an event (alert-delivered, alert-failed).
A new leader delivers again what the old one had not recorded as
delivered: at least once.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAlertAddCmd(s), newAlertListCmd(s), newAlertRemoveCmd(s), newAlertTestCmd(s))
	return cmd
}

func newAlertAddCmd(s streams) *cobra.Command {
	var a api.Alert
	var webhook, email, script, events string
	var secretFiles []string
	cmd := &cobra.Command{
		Use: "add ID (--webhook URL | --email ADDR --smtp HOST:PORT [--from ADDR] [--starttls] | " +
			"--script PATH [--recipient VALUE]) [--events KIND,...] [--secret-file NAME=PATH]",
		Short: "Add (or replace) an alert",
		Long: `Add an alert, or replace the one with that id.

--events names the event kinds delivered (node-lost, resource-recovered,
...) or their first word (node, resource, quorum, leader, vip, config);
default: every kind except the alert-* ones. Naming alert-failed delivers
the failures of the other alerts (never the alert's own, nor failures to
deliver an alert-failed event). A script gets only the events Pacemaker has
alerts for (node, fencing, resource) unless --events names the kind. --secret-file NAME=PATH reads a
secret from a file (so it is never on a command line): hmac signs webhook
bodies, password authenticates to the SMTP server (as --from). A script
must be an absolute path on every node that may lead, not writable by
group or others.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("alert add needs one alert id (see 'paceline alert add --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			a.ID = args[0]
			set := 0
			for _, v := range []string{webhook, email, script} {
				if v != "" {
					set++
				}
			}
			if set != 1 {
				return usagef("alert add: give one of --webhook URL, --email ADDR or --script PATH")
			}
			switch {
			case webhook != "":
				a.Kind, a.URL = "webhook", webhook
			case email != "":
				a.Kind, a.To = "email", email
				if a.SMTP == "" {
					return usagef("alert add: --email needs --smtp HOST:PORT")
				}
			default:
				a.Kind, a.Script = "script", script
			}
			if events != "" {
				a.Events = strings.Split(events, ",")
			}
			for _, sf := range secretFiles {
				name, path, ok := strings.Cut(sf, "=")
				if !ok || name == "" || path == "" {
					return usagef("--secret-file %q: want NAME=PATH", sf)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("--secret-file %s: %w", name, err)
				}
				if a.Secrets == nil {
					a.Secrets = map[string]string{}
				}
				a.Secrets[name] = strings.TrimRight(string(b), "\r\n")
			}
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.PutAlert(cmd.Context(), a); err != nil {
				return failure("add alert "+quote(a.ID), "", err)
			}
			_, err = fmt.Fprintf(s.Out, "alert %s added (%s)\n", a.ID, a.Kind)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&webhook, "webhook", "", "POST events as JSON to this http(s) URL")
	f.StringVar(&email, "email", "", "mail events to this address")
	f.StringVar(&a.SMTP, "smtp", "", "the SMTP server (HOST:PORT) for --email")
	f.StringVar(&a.From, "from", "", "the sender address for --email (default paceline@HOSTNAME)")
	f.BoolVar(&a.StartTLS, "starttls", false, "require STARTTLS with the SMTP server")
	f.StringVar(&script, "script", "", "run this Pacemaker alert agent (absolute path)")
	f.StringVar(&a.Recipient, "recipient", "", "the script's CRM_alert_recipient")
	f.StringVar(&events, "events", "", "deliver only these event kinds (comma separated)")
	f.StringArrayVar(&secretFiles, "secret-file", nil, "read secret NAME (hmac, password) from PATH (repeatable)")
	return cmd
}

func newAlertListCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the alerts (secrets by name only)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			as, err := c.Alerts(cmd.Context())
			if err != nil {
				return failure("list alerts", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, api.AlertList{Alerts: as})
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tTARGET\tEVENTS\tSECRETS")
			for _, a := range as {
				target := a.URL
				switch a.Kind {
				case "email":
					target = a.To + " via " + a.SMTP
					if a.StartTLS {
						target += " (starttls)"
					}
				case "script":
					target = a.Script
					if a.Recipient != "" {
						target += " -> " + a.Recipient
					}
				}
				evs := "all"
				if len(a.Events) > 0 {
					evs = strings.Join(a.Events, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Kind, target, evs, dash(strings.Join(a.SecretNames, ",")))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAlertRemoveCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove an alert",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("alert remove needs one alert id")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.RemoveAlert(cmd.Context(), args[0]); err != nil {
				return failure("remove alert "+quote(args[0]), "alert "+quote(args[0]), err)
			}
			_, err = fmt.Fprintf(s.Out, "alert %s removed\n", args[0])
			return err
		},
	}
}

func newAlertTestCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "test ID",
		Short: "Deliver a test event to an alert now and say whether it arrived",
		Long: `Deliver a test event (kind alert-test) to the alert from the node that
answers, once, without retries, and wait for the result: exit 0 when it was
delivered, 1 with the reason (an unreachable server, a refused request, a
script that failed or hung) otherwise.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("alert test needs one alert id")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			r, err := c.TestAlert(cmd.Context(), args[0])
			if err != nil {
				return failure("test alert "+quote(args[0]), "alert "+quote(args[0]), err)
			}
			_, err = fmt.Fprintf(s.Out, "alert %s: test event delivered in %s\n", args[0], r.Took)
			return err
		},
	}
}
