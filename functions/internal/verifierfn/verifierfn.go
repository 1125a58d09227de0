// Package verifierfn wires the nightly re-verification Lambda: EventBridge
// Scheduler invokes it once a night; app.Nightly re-checks every mailbox of
// every active tenant and records statuses, hints and effective access
// modes. New builds the handler from the function's environment;
// functions/verifier/main.go starts it. Wiring only.
package verifierfn

import (
	"context"
	"log/slog"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

// New returns the function's handler, or why it cannot start.
func New(ctx context.Context, r *config.Reader, opts ...lambdaenv.Option) (func(context.Context) (app.NightlySummary, error), error) {
	env, err := lambdaenv.Load(ctx, r, opts...)
	if err != nil {
		return nil, err
	}
	store, err := env.Store()
	if err != nil {
		return nil, err
	}
	secrets, err := env.Secrets()
	if err != nil {
		return nil, err
	}
	clock := domain.SystemClock{}
	checker := app.Protocols{
		EWS:   app.ProtocolAdapters{Checker: ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: env.EWSOptions()})},
		Graph: app.ProtocolAdapters{Checker: graphmailbox.NewConnector(env.GraphOptions())},
	}
	tenants := &app.Tenants{Store: store, Secrets: secrets, Checker: checker, Clock: clock, URLs: env.URLPolicy, Log: env.Log}
	nightly := &app.Nightly{Store: store, Tenants: tenants, Log: env.Log}
	return handler(nightly.Run, clock, env.Log), nil
}

// handler runs one night's verification. A tenant that fails is logged and
// the run still succeeds: a retry by the scheduler would re-check every
// other tenant too, and tomorrow's run covers it.
func handler(run func(context.Context) (app.NightlySummary, error), clock domain.Clock, log *slog.Logger) func(context.Context) (app.NightlySummary, error) {
	return func(ctx context.Context) (app.NightlySummary, error) {
		began := clock.Now()
		sum, err := run(ctx)
		attrs := []any{"tenants", sum.Tenants, "offboarded", sum.Offboarded, "mailboxes", sum.Mailboxes,
			"byStatus", sum.ByStatus, "failedTenants", len(sum.FailedTenants), "unfinished", sum.Unfinished,
			"ms", clock.Now().Sub(began).Milliseconds()}
		if err != nil {
			log.Error("nightly verify failed", append(attrs, "err", err)...)
			return sum, err
		}
		log.Info("nightly verify", attrs...)
		return sum, nil
	}
}
