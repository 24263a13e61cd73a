package argo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// emailOptions are `service.email[.<name>]` options.
type emailOptions struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	From     string `json:"from"`
	Username string `json:"username"`
	Password string `json:"password"`
	HTML     bool   `json:"html"`
	// InsecureSkipVerify is spelled as upstream spells it.
	InsecureSkipVerify bool `json:"insecure_skip_verify"`
}

// emailService sends mail over SMTP: STARTTLS when the server offers it,
// implicit TLS on port 465, PLAIN authentication when a username is set
// (net/smtp refuses it over an unencrypted connection but to localhost).
type emailService struct {
	opts emailOptions
	from *mail.Address
	now  func() time.Time
}

func newEmail(raw []byte, masks *redact.Values) (Service, error) {
	var o emailOptions
	if err := decodeOptions(raw, &o); err != nil {
		return nil, err
	}
	masks.Add(o.Password)
	if o.Host == "" {
		return nil, errors.New("email: host is required")
	}
	if o.Port == 0 {
		o.Port = 587
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, errors.New("email: port out of range")
	}
	from, err := mail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("email: from: %w", err)
	}
	return &emailService{opts: o, from: from, now: time.Now}, nil
}

// Send mails m to the recipient's address.
func (s *emailService) Send(ctx context.Context, m *Message, to Destination) error {
	rcpt, err := mail.ParseAddress(to.Recipient)
	if err != nil {
		return notify.Permanent(fmt.Errorf("email: recipient %q: %w", to.Recipient, err))
	}
	msg := s.compose(m, rcpt)
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := s.deliver(conn, rcpt.Address, msg); err != nil {
		var tpErr *textproto.Error
		if errors.As(err, &tpErr) && tpErr.Code >= 500 {
			return notify.Permanent(fmt.Errorf("email via %s: %w", s.opts.Host, err))
		}
		return fmt.Errorf("email via %s: %w", s.opts.Host, err)
	}
	return nil
}

// dial connects to the server, over TLS on port 465, with ctx's deadline
// on the whole conversation.
func (s *emailService) dial(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("email: connect to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if s.opts.Port == 465 {
		conn = tls.Client(conn, s.tlsConfig())
	}
	return conn, nil
}

func (s *emailService) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.opts.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.opts.InsecureSkipVerify} //nolint:gosec // the user's choice
}

// deliver runs the SMTP conversation on conn.
func (s *emailService) deliver(conn net.Conn, rcpt string, msg []byte) error {
	c, err := smtp.NewClient(conn, s.opts.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, isTLS := conn.(*tls.Conn); !isTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return err
			}
		}
	}
	if s.opts.Username != "" {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := c.Auth(smtp.PlainAuth("", s.opts.Username, s.opts.Password, s.opts.Host)); err != nil {
				return err
			}
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose is the mail: headers, then the body as quoted-printable UTF-8.
func (s *emailService) compose(m *Message, rcpt *mail.Address) []byte {
	subject, body := m.Title, m.Text
	if m.Email != nil {
		if m.Email.Subject != "" {
			subject = m.Email.Subject
		}
		if m.Email.Body != "" {
			body = m.Email.Body
		}
	}
	contentType := "text/plain"
	if s.opts.HTML {
		contentType = "text/html"
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", s.from.String())
	header("To", rcpt.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	header("Date", s.now().Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	header("Content-Type", contentType+"; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body, "\r\n", "\n")))
	_ = qp.Close()
	return b.Bytes()
}

// oneLine keeps a header value on one line, so a rendered subject cannot
// add headers.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
