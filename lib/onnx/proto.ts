// ONNX's protobuf schema, read with protobufjs from the onnx.proto vendored in vendor/onnx/ (ONNX 1.12.0,
// Apache-2.0): fcnet writes ModelProto with ONNX's own message definitions rather than by hand.
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { packageRoot } from '../package-root';

let modelProto: protobuf.Type | undefined;

/** onnx.ModelProto, with the field names exactly as onnx.proto spells them (ir_version, opset_import, ...). */
export function onnxModelProto(): protobuf.Type {
  if (modelProto === undefined) {
    const root = new protobuf.Root().loadSync(path.join(packageRoot(), 'vendor', 'onnx', 'onnx.proto'), { keepCase: true });
    modelProto = root.lookupType('onnx.ModelProto');
  }
  return modelProto;
}

/** The bytes of a .onnx file for `model`, a plain object shaped as onnx.ModelProto. */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const type = onnxModelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`fcnet: internal error: the ONNX model does not fit onnx.ModelProto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** A .onnx file's bytes decoded back into a plain object (field names as in onnx.proto; int64s as numbers). */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const type = onnxModelProto();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}
