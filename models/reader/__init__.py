"""The plate reader (OCR): a convolutional CRNN trained with CTC on synthetic plates."""
