package twiml

import (
	"encoding/xml"
	"fmt"
	"time"
)

// Enqueue is <Enqueue>: put the caller in a queue (twilio-voice.md §1.2).
type Enqueue struct {
	Pos
	Name string // the text: the queue name, ≤ 64 characters
	// Action is requested when the caller leaves the queue; nil when absent.
	Action *string
	Method string // default POST
	// WaitURL is the hold document; nil when absent (Twilio's default
	// playlist), "" for silence.
	WaitURL       *string
	WaitURLMethod string // default POST
	WorkflowSid   string
	// MaxQueueSize changes the queue's size (helper libraries only); 0 when
	// absent, leaving the queue's size as it is (1000 for a new queue).
	MaxQueueSize int
	Task         *Task // nil when absent
}

// Task is the <Task> inside <Enqueue>: a TaskRouter task as JSON.
type Task struct {
	Pos
	Body     string        // the JSON text
	Priority int           // 0 when absent
	Timeout  time.Duration // 0 when absent (TaskRouter's default)
}

// NewEnqueue returns an Enqueue into the named queue with Twilio's defaults.
func NewEnqueue(name string) *Enqueue {
	return &Enqueue{Name: name, Method: MethodPOST, WaitURLMethod: MethodPOST}
}

func (*Enqueue) Tag() string { return "Enqueue" }
func (*Enqueue) isVerb()     {}
func (e *Enqueue) write(w *writer) {
	if e.Task == nil {
		writeLeaf(w, "Enqueue", e, enqueueFields, e.Name)
		return
	}
	w.start("Enqueue")
	writeAttrs(w, e, enqueueFields)
	w.closeStart()
	w.text(e.Name)
	writeLeaf(w, "Task", e.Task, taskFields, e.Task.Body)
	w.end("Enqueue")
}

// Enqueue has no documented codes; its methods use 13210 (Dial: invalid
// method) and its numbers 12200 (schema: bad value).
var enqueueFields = []field[Enqueue]{
	optField("action", func(e *Enqueue) **string { return &e.Action }),
	methodField("method", CodeDialMethod, func(e *Enqueue) *string { return &e.Method }),
	optField("waitUrl", func(e *Enqueue) **string { return &e.WaitURL }),
	methodField("waitUrlMethod", CodeDialMethod, func(e *Enqueue) *string { return &e.WaitURLMethod }),
	strField("workflowSid", func(e *Enqueue) *string { return &e.WorkflowSid }),
	intField("maxQueueSize", CodeSchema, 0, 1, maxInt, func(e *Enqueue) *int { return &e.MaxQueueSize }),
}

var taskFields = []field[Task]{
	intField("priority", CodeSchema, 0, 0, maxInt, func(e *Task) *int { return &e.Priority }),
	secField("timeout", CodeSchema, 0, 1, maxInt, func(e *Task) *time.Duration { return &e.Timeout }),
}

func (p *parser) enqueue(se xml.StartElement, line int) (*Enqueue, error) {
	e := NewEnqueue("")
	e.Line = line
	applyAttrs(p, e, "Enqueue", line, se.Attr, enqueueFields)
	var text []byte
	for {
		c, cl, ok, err := p.child(se.Name, &text, nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if c.Name.Space != "" || c.Name.Local != "Task" {
			if err := p.unknown(CodeSchema, c, cl, "inside <Enqueue> (only Task)"); err != nil {
				return nil, err
			}
			continue
		}
		t := &Task{Pos: Pos{cl}}
		applyAttrs(p, t, "Task", cl, c.Attr, taskFields)
		if t.Body, err = p.textOnly(c); err != nil {
			return nil, err
		}
		if e.Task != nil {
			p.warn(CodeSchema, cl, "<Enqueue> takes one <Task>; the extra one is ignored")
			continue
		}
		e.Task = t
	}
	e.Name = trimText(text)
	if n := len([]rune(e.Name)); n > 64 {
		p.warn(CodeSchema, line, fmt.Sprintf("<Enqueue> queue name is %d characters; the limit is 64", n))
	}
	if e.Name == "" && e.WorkflowSid == "" {
		p.warn(CodeSchema, line, "<Enqueue> has no queue name")
	}
	return e, nil
}
