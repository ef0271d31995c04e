package onnxexport

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file is a small writer of the ONNX protobuf messages the exporter needs. It encodes with protowire
// directly and registers no message types. Field numbers are those of onnx.proto (proto2 syntax); repeated
// scalars are written unpacked, the canonical proto2 form, which every protobuf parser accepts.

// ONNX TensorProto.DataType values used here.
const (
	dtFloat  = 1
	dtInt64  = 7
	dtDouble = 11
)

// ONNX AttributeProto.AttributeType values used here.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrFloats = 6
	attrInts   = 7
)

// modelProto is onnx.ModelProto.
type modelProto struct {
	irVersion       int64
	opsets          []opsetID
	producerName    string
	producerVersion string
	domain          string
	modelVersion    int64
	docString       string
	graph           *graphProto
	metadata        []stringPair
}

// opsetID is onnx.OperatorSetIdProto.
type opsetID struct {
	domain  string
	version int64
}

// stringPair is onnx.StringStringEntryProto.
type stringPair struct{ key, value string }

// graphProto is onnx.GraphProto.
type graphProto struct {
	name         string
	docString    string
	nodes        []nodeProto
	initializers []tensorProto
	inputs       []valueInfo
	outputs      []valueInfo
	valueInfo    []valueInfo
}

// nodeProto is onnx.NodeProto.
type nodeProto struct {
	inputs, outputs []string
	name, opType    string
	docString       string
	attrs           []attribute
}

// attribute is onnx.AttributeProto, restricted to the scalar and list kinds used here.
type attribute struct {
	name   string
	typ    int32
	f      float32
	i      int64
	s      string
	floats []float32
	ints   []int64
}

// tensorProto is onnx.TensorProto with its payload in raw_data (little-endian).
type tensorProto struct {
	name     string
	dims     []int64
	dataType int32
	raw      []byte
	doc      string
}

// valueInfo is onnx.ValueInfoProto of a tensor type; a dim with param != "" is symbolic (dim_param).
type valueInfo struct {
	name     string
	doc      string
	elemType int32
	dims     []dim
}

// dim is one onnx.TensorShapeProto.Dimension: dim_value, or dim_param when param is set.
type dim struct {
	value int64
	param string
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendOptString writes s unless it is empty (an absent optional string reads as "").
func appendOptString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(b, num, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendFloat(b []byte, num protowire.Number, v float32) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func (m *modelProto) marshal() []byte {
	var b []byte
	b = appendInt(b, 1, m.irVersion)
	b = appendOptString(b, 2, m.producerName)
	b = appendOptString(b, 3, m.producerVersion)
	b = appendOptString(b, 4, m.domain)
	if m.modelVersion != 0 {
		b = appendInt(b, 5, m.modelVersion)
	}
	b = appendOptString(b, 6, m.docString)
	if m.graph != nil {
		b = appendMessage(b, 7, m.graph.marshal())
	}
	for _, o := range m.opsets {
		var ob []byte
		ob = appendOptString(ob, 1, o.domain)
		ob = appendInt(ob, 2, o.version)
		b = appendMessage(b, 8, ob)
	}
	for _, kv := range m.metadata {
		b = appendMessage(b, 14, kv.marshal())
	}
	return b
}

func (kv stringPair) marshal() []byte {
	var b []byte
	b = appendString(b, 1, kv.key)
	return appendString(b, 2, kv.value)
}

func (g *graphProto) marshal() []byte {
	var b []byte
	for i := range g.nodes {
		b = appendMessage(b, 1, g.nodes[i].marshal())
	}
	b = appendOptString(b, 2, g.name)
	for i := range g.initializers {
		b = appendMessage(b, 5, g.initializers[i].marshal())
	}
	b = appendOptString(b, 10, g.docString)
	for i := range g.inputs {
		b = appendMessage(b, 11, g.inputs[i].marshal())
	}
	for i := range g.outputs {
		b = appendMessage(b, 12, g.outputs[i].marshal())
	}
	for i := range g.valueInfo {
		b = appendMessage(b, 13, g.valueInfo[i].marshal())
	}
	return b
}

func (n *nodeProto) marshal() []byte {
	var b []byte
	for _, s := range n.inputs {
		b = appendString(b, 1, s)
	}
	for _, s := range n.outputs {
		b = appendString(b, 2, s)
	}
	b = appendOptString(b, 3, n.name)
	b = appendString(b, 4, n.opType)
	for i := range n.attrs {
		b = appendMessage(b, 5, n.attrs[i].marshal())
	}
	return appendOptString(b, 6, n.docString)
}

func (a *attribute) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.name)
	switch a.typ {
	case attrFloat:
		b = appendFloat(b, 2, a.f)
	case attrInt:
		b = appendInt(b, 3, a.i)
	case attrString:
		b = appendString(b, 4, a.s)
	case attrFloats:
		for _, v := range a.floats {
			b = appendFloat(b, 7, v)
		}
	case attrInts:
		for _, v := range a.ints {
			b = appendInt(b, 8, v)
		}
	}
	return appendInt(b, 20, int64(a.typ))
}

func (t *tensorProto) marshal() []byte {
	var b []byte
	for _, d := range t.dims {
		b = appendInt(b, 1, d)
	}
	b = appendInt(b, 2, int64(t.dataType))
	b = appendString(b, 8, t.name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	b = protowire.AppendBytes(b, t.raw)
	return appendOptString(b, 12, t.doc)
}

func (v *valueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.dims {
		var db []byte
		if d.param != "" {
			db = appendString(db, 2, d.param)
		} else {
			db = appendInt(db, 1, d.value)
		}
		shape = appendMessage(shape, 1, db)
	}
	var tensorType []byte
	tensorType = appendInt(tensorType, 1, int64(v.elemType))
	tensorType = appendMessage(tensorType, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensorType)

	var b []byte
	b = appendString(b, 1, v.name)
	b = appendMessage(b, 2, typ)
	return appendOptString(b, 3, v.doc)
}

// floatTensor makes a float32 initializer; data is row-major with the given dims.
func floatTensor(name string, dims []int, data []float32) tensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return tensorProto{name: name, dims: int64s(dims), dataType: dtFloat, raw: raw}
}

// doubleTensor makes a float64 initializer.
func doubleTensor(name string, dims []int, data []float64) tensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	return tensorProto{name: name, dims: int64s(dims), dataType: dtDouble, raw: raw}
}

// int64Tensor makes an int64 initializer.
func int64Tensor(name string, dims []int, data []int64) tensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return tensorProto{name: name, dims: int64s(dims), dataType: dtInt64, raw: raw}
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func intsAttr(name string, v ...int64) attribute {
	return attribute{name: name, typ: attrInts, ints: v}
}

func intAttr(name string, v int64) attribute {
	return attribute{name: name, typ: attrInt, i: v}
}
