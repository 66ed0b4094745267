#!/usr/bin/env python3
"""Exports two public tables that Debian's python3-sklearn ships into examples/data/ as CSV, each split 50/50
into train and test halves (stratified, seed 0), for the guide "Your own data" (README.md) and for
scripts/compare-own-data.py:

- breast-cancer-{train,test}.csv: the Wisconsin Diagnostic Breast Cancer table (569 rows, 30 features, target
  'diagnosis' = malignant/benign). W. Wolberg, W. Street, O. Mangasarian, UCI Machine Learning Repository,
  https://doi.org/10.24432/C5DW2B, licence CC BY 4.0.
- digits-{train,test}.csv: the UCI optical recognition of handwritten digits test set as scikit-learn ships it
  (1797 rows, 64 features 0..16, target 'digit'). E. Alpaydin, C. Kaynak, UCI Machine Learning Repository,
  https://doi.org/10.24432/C50P49, licence CC BY 4.0.

Run: /usr/bin/python3 scripts/export-sklearn-tables.py   (needs scikit-learn; writes the same bytes every time)
"""
import csv
import os

from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'examples', 'data')


def export(name, bunch, target_name, target_values):
    columns = [c.replace(' ', '_') for c in bunch.feature_names]
    rows_train, rows_test, y_train, y_test = train_test_split(bunch.data, bunch.target, test_size=0.5, random_state=0, stratify=bunch.target)
    for part, X, y in (('train', rows_train, y_train), ('test', rows_test, y_test)):
        path = os.path.join(OUT, f'{name}-{part}.csv')
        with open(path, 'w', newline='') as f:
            out = csv.writer(f, lineterminator='\n')
            out.writerow(columns + [target_name])
            for row, label in zip(X, y):
                out.writerow([repr(float(v)) if v != int(v) else str(int(v)) for v in row] + [target_values(label)])
        print(f'{path}: {len(y)} rows, {len(columns)} features')


def main():
    os.makedirs(OUT, exist_ok=True)
    cancer = load_breast_cancer()
    export('breast-cancer', cancer, 'diagnosis', lambda y: cancer.target_names[y])
    export('digits', load_digits(), 'digit', lambda y: str(int(y)))


if __name__ == '__main__':
    main()
