// Issue 14's file readers: CSV (streamed with csv-parse; columns by name; errors naming file, line and column)
// and NumPy .npy (every dtype read, the header parsed strictly; fixtures written by numpy, test/fixtures/npy).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCsvDataset } from '../lib/data/csv';
import { parseNpy, readNpy, readNpyDataset } from '../lib/data/npy';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-data-'));
const npy = (name: string): string => path.join(__dirname, 'fixtures', 'npy', name);
function csv(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('readCsvDataset', () => {
  const table = csv('iris.csv', 'id,sepal,petal,species\n1,5.1,1.4,setosa\n2,7.0,4.7,versicolor\n3,"6.3",6.0,virginica\n4,4.9,1.5,setosa\n');

  test('class names from the target column, features by name, IDs ignored', async () => {
    const data = await readCsvDataset(table, { target: 'species', ignore: ['id'] });
    expect(data.task).toBe('classify');
    expect(data.featureNames).toEqual(['sepal', 'petal']);
    expect(data.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(Array.from(data.targets)).toEqual([0, 1, 2, 0]);
    expect(data.features).toEqual(new Float32Array([5.1, 1.4, 7.0, 4.7, 6.3, 6.0, 4.9, 1.5]));
  });

  test('a reordered file read with the model\'s feature names gives the same numbers', async () => {
    const reordered = csv('reordered.csv', 'species,petal,id,sepal\nsetosa,1.4,1,5.1\nversicolor,4.7,2,7.0\nvirginica,6.0,3,6.3\nsetosa,1.5,4,4.9\n');
    const a = await readCsvDataset(table, { target: 'species', ignore: ['id'] });
    const b = await readCsvDataset(reordered, { target: 'species', features: a.featureNames!, classNames: a.classNames! });
    expect(b.features).toEqual(a.features);
    expect(b.targets).toEqual(a.targets);
  });

  test('regression and multi-label are inferred (type_of_target); features only without a target', async () => {
    const reg = await readCsvDataset(csv('reg.csv', 'a,b,y\n1,2,0.5\n3,4,1\n'), { target: 'y' });
    expect(reg.task).toBe('regress');
    expect(reg.targets).toEqual(new Float32Array([0.5, 1]));
    const multi = await readCsvDataset(csv('multi.csv', 'a,t1,t2\n1,0,1\n2,1,1\n'), { target: ['t1', 't2'] });
    expect(multi.task).toBe('multilabel');
    expect(multi.k).toBe(2);
    const rows = await readCsvDataset(csv('rows.csv', 'a,b\n1,2\n'));
    expect(rows.n).toBe(1);
    expect(rows.task).toBeNull();
  });

  test('bad input names file, line and column, before any training', async () => {
    const file = csv('bad.csv', 'a,color,y\n1,0,x\n2,red,y\n');
    await expect(readCsvDataset(file, { target: 'y' })).rejects.toThrow(`${file}: line 3, column 'color': 'red' is not a number; encode categories as numbers first (one 0/1 column per category), or --ignore the column`);
    const empty = csv('empty.csv', 'a,y\n1,x\n,y\n');
    await expect(readCsvDataset(empty, { target: 'y' })).rejects.toThrow(`${empty}: line 3, column 'a' is empty; fill in or drop missing values first`);
    const ragged = csv('ragged.csv', 'a,b,y\n1,2,x\n1,2\n');
    await expect(readCsvDataset(ragged, { target: 'y' })).rejects.toThrow(new RegExp(`^${ragged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: Invalid Record Length: .*line 3`));
    await expect(readCsvDataset(table, { target: 'kind' })).rejects.toThrow(`${table}: no column 'kind' (the target); the header has 'id', 'sepal', 'petal', 'species'`);
    await expect(readCsvDataset(table, { target: 'Species' })).rejects.toThrow(`${table}: no column 'Species' (the target) (did you mean 'species'?); the header has 'id', 'sepal', 'petal', 'species'`);
    await expect(readCsvDataset(table, { target: 'species', ignore: ['id'], classNames: ['setosa', 'virginica'] })).rejects.toThrow(`${table}: line 3, column 'species': class 'versicolor' is not one of the model's 2 classes (setosa, virginica)`);
    const nan = csv('nan.csv', 'a,y\nNaN,1\n');
    await expect(readCsvDataset(nan, { target: 'y' })).rejects.toThrow(`${nan}: line 2, column 'a': 'NaN' is not a number`);
    await expect(readCsvDataset(path.join(dir, 'missing.csv'))).rejects.toThrow(`Cannot read ${path.join(dir, 'missing.csv')}: no such file`);
  });

  test("every decimal notation reads as Number()'s value (the fast path for plain decimals and the general one agree); others are refused", async () => {
    const cells = ['1', '-0', '+.5', '5.', '0.1', '-3.1416', '00012.50', '123456789012345', '1234567890.123456789', '0.000000000000000000000001',
      '1e3', '-1.5E-3', ' 2.5 ', '\t7', '3.4028234663852886e38', '999999999999999.9'];
    const data = await readCsvDataset(csv('notations.csv', `x,y\n${cells.map((c, i) => `${c},${i % 2}`).join('\n')}\n`), { target: 'y' });
    expect(Array.from(data.features)).toEqual(cells.map((c) => Math.fround(Number(c.trim()))));
    expect(Object.is(data.features[1], -0)).toBe(true);
    for (const cell of ['0x10', '0b1', 'Infinity', '-Infinity', 'NaN', '1e', '1.2.3', '.', '-', '+', '1e39', '1_0', '1,5'.replace(',', ';'), '--1']) {
      const file = csv('refused.csv', `x,y\n1,0\n${cell},1\n`);
      await expect(readCsvDataset(file, { target: 'y' })).rejects.toThrow(`${file}: line 3, column 'x': '${cell}' is not a number`);
    }
  });

  test('blanks around cells and around quoted cells are not part of them', async () => {
    const data = await readCsvDataset(csv('blanks.csv', ' a , y \n 1 , "x" \n2,  z\n'), { target: 'y' });
    expect(data.featureNames).toEqual(['a']);
    expect(data.features).toEqual(new Float32Array([1, 2]));
    expect(data.classNames).toEqual(['x', 'z']);
  });

  test('blank lines and line breaks inside quotes: the rows are right, and an error names the line the row ends on', async () => {
    const file = csv('breaks.csv', 'a,y\n1,"x\ny"\n\n2,z\n\n');
    const data = await readCsvDataset(file, { target: 'y' });
    expect(data.n).toBe(2);
    expect(data.features).toEqual(new Float32Array([1, 2]));
    expect(data.classNames).toEqual(['x\ny', 'z']);
    const bad = csv('breaks-bad.csv', 'a,y\n1,"x\ny"\n\n2,z\nbad,w\n');
    await expect(readCsvDataset(bad, { target: 'y' })).rejects.toThrow(`${bad}: line 6, column 'a': 'bad' is not a number`);
    const unseen = csv('breaks-unseen.csv', 'a,y\n1,"x\ny"\n\n2,w\n');
    await expect(readCsvDataset(unseen, { target: 'y', classNames: ['x\ny', 'z'] })).rejects.toThrow(`${unseen}: line 5, column 'y': class 'w' is not one of the model's 2 classes`);
  });

  test('a target with more distinct values than classes can be is refused as classes, and read as values', async () => {
    const rows = Array.from({ length: 65537 }, (_, i) => `${i % 7},${i}`);
    const file = csv('many.csv', `a,y\n${rows.join('\n')}\n`);
    await expect(readCsvDataset(file, { target: 'y' })).rejects.toThrow(`${file}: line 65538, column 'y': more than 65536 distinct target values, too many for classes (numbers to predict: task 'regress')`);
    const values = await readCsvDataset(file, { target: 'y', task: 'regress' });
    expect(values.targets[65536]).toBe(65536);
    const bad = csv('many-bad.csv', `a,y\n${rows.join('\n')}\nx1,oops\n`.replace('x1,', '1,'));
    await expect(readCsvDataset(bad, { target: 'y', task: 'regress' })).rejects.toThrow(`${bad}: line 65539, column 'y': 'oops' is not a number, which task 'regress' needs`);
  });
});

describe('.npy', () => {
  test.each(['float32', 'float64', 'uint8', 'int32', 'int64', 'v2'])('reads %s as numpy wrote it', (kind) => {
    const a = readNpy(npy(`x_${kind}.npy`));
    expect(a.shape).toEqual([2, 3]);
    const expected = kind === 'uint8' ? [1, 2, 3, 4, 5, 6] : kind.startsWith('int') ? [1, -2, 3, 4, 5, 6] : [1.5, -2, 3, 4, 5, 6.25];
    expect(Array.from(a.data)).toEqual(expected);
  });

  test('a dataset of features and class indices, or of 0/1 columns', () => {
    const classes = readNpyDataset(npy('x_float64.npy'), npy('y_int64.npy'));
    expect(Array.from(classes.targets)).toEqual([0, 2]);
    expect(classes.features).toEqual(new Float32Array([1.5, -2, 3, 4, 5, 6.25]));
    const multi = readNpyDataset(npy('x_float32.npy'), npy('y_float32_2d.npy'));
    expect(multi.k).toBe(2);
  });

  test('what is not read is refused with the reason', () => {
    expect(() => readNpy(npy('x_fortran.npy'))).toThrow('Fortran order is not read; save the array in C order (np.ascontiguousarray)');
    expect(() => readNpy(npy('x_bigendian.npy'))).toThrow("dtype '>f8' is not read; fcnet reads float32, float64, uint8, int32 and int64, little-endian (<f4, <f8, |u1, <i4, <i8)");
    const good = fs.readFileSync(npy('x_float32.npy'));
    expect(() => parseNpy(good.subarray(0, good.length - 4), 't.npy')).toThrow('t.npy: shape (2, 3) of <f4 needs 24 bytes of data but the file has 20');
    const hostile = Buffer.from(good);
    hostile.write("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 3), }", 10, 'latin1');
    expect(() => parseNpy(hostile, 'h.npy')).toThrow(/^h\.npy: (not a \.npy file|shape \(99999999999, 3\))/);
    const huge = Buffer.from(good);
    huge.writeUInt16LE(60000, 8);
    expect(() => parseNpy(huge, 'u.npy')).toThrow("u.npy: a .npy header of 60000 bytes; more than 10000 (numpy's own limit) is refused");
    const twice = Buffer.from(good);
    twice.write("{'descr': '<f4', 'descr': '<f4', 'shape': (2, 3), }", 10, 'latin1');
    expect(() => parseNpy(twice, 'd.npy')).toThrow("d.npy: not a .npy file numpy would write: key 'descr' twice");
  });
});
